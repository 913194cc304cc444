"""``nameko run bench.leads_gateway:LeadsGateway``: the real leads routes behind a stub
authenticator (token ``role:user_id:network_id``), for the HTTP benchmarks."""
from leads.testing import stub_gateway_class

LeadsGateway = stub_gateway_class()
