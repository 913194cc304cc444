"""Pure domain of the plans service: no database, broker or RPC.

Every rule of the terms about plans (art. 3.B.iii, 6, 8.B) lives here as plain
functions and a plain entity, so it can be tested with dates alone. "Today" is
always an argument (a Europe/Paris calendar day); nothing here reads the clock.
"""
