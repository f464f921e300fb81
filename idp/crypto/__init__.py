"""Password hashing, password rules and sealing of personal information (SM4/SM3)."""
