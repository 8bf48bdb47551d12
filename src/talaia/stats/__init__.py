"""talaia.stats"""
