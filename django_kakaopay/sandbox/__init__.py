"""A simulated KakaoPay provider that runs inside the project.

This is the *remote* side of the sandbox backend: its own table stands in for
the provider's database, its pages stand in for KakaoPay's approval screens,
and it delivers signed notifications to the app's webhook endpoint the way a
real provider does. ``django_kakaopay.backends.sandbox.SandboxBackend`` is the
client that talks to it, and it never touches the app's own models.
"""
