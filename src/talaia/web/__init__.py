"""talaia.web"""
