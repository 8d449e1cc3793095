"""One blueprint per service: each module registers its routes and their OpenAPI description."""
