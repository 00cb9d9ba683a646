"""The API's views, one module per resource; each is thin: parse, ask the policy, call a service, present."""
