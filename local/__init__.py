"""The embedded local stack: moto server + our handlers in-process + SQS poller + HTTP adapter."""
