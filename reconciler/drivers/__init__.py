"""Device drivers behind one async interface (see docs/drivers.md).

base (the contract, errors, transcript), asa (CLI over HTTPS), agent (JSON API), cli_parsers
(pure parsers of ASA output), sources (re-openable byte streams), tls (clients honouring
TlsSettings), registry (driver kind -> class).
"""
