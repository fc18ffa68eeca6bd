"""Aiguillage: every channel of a mairie becomes an acknowledged, routed, tracked ticket."""
