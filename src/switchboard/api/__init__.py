"""HTTP plumbing shared by every route: dependencies, errors, origins, system routes."""
