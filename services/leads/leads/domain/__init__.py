"""Pure business rules of the leads service.

Nothing in this package touches a database, a broker, the network or the clock:
every rule takes the current time (and any I/O, such as a DNS resolver) as an
argument, so the HTTP entrypoint, the AMQP consumer and the tests all run the
exact same code.
"""
