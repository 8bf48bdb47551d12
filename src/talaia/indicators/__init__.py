"""talaia.indicators"""
