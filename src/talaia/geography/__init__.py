"""talaia.geography"""
