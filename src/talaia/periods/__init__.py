"""talaia.periods"""
