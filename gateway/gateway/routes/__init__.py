"""Route groups; ``GatewayService`` inherits them all."""
