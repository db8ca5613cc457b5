"""Logger, metrics and tracer shared by every function (Powertools).

Never log prompts, images or whole events at INFO: log ids.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="avatarsmith")
metrics = Metrics(namespace="Avatarsmith", service="avatarsmith")
