"""Vendor compatibility: each seed vendor's request and response shapes mapped onto the native models.

One module per vendor. Each only translates (the vendor's request -> `GenerateAvatarRequest`, a job or a
saved avatar -> the vendor's answer); every rule lives in the native models and logic.
"""
