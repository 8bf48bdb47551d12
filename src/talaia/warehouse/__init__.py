"""talaia.warehouse"""
