"""Business rules of Aiguillage: pure functions on plain data, no Flask, no database."""
