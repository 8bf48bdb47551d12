"""talaia.store"""
