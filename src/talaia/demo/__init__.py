"""talaia.demo"""
