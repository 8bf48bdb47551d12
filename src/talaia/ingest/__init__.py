"""talaia.ingest"""
