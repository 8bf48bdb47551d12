"""talaia.analysis"""
