"""Background work through Dramatiq: brokers from URLs, the outbox relay, and the engine's actors.

Nothing here touches Dramatiq's global broker: every actor is declared on the broker built for one
``Statewright``, so importing the package never creates or connects to a broker.
"""
