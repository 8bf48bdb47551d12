"""talaia.classification"""
