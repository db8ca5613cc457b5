"""Avatarsmith: the package every Lambda function imports (shipped as the common layer)."""

__version__ = "0.1.0"
