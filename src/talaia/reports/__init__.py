"""talaia.reports"""
