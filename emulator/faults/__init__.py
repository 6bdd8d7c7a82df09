"""Fault injection: ordered rules that make provider requests fail the way networks and servers do.

``POST /_sandbox/faults`` adds a rule (``service.create_rule``); a ``before_request`` hook
(``hook.install``) finds the first rule that fires for each provider request and applies its effect
(``effects``): the provider's own error body, 429 with ``Retry-After``, added latency, a dropped
connection or a truncated body.
"""
