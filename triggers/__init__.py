"""HTTP, timer and blob trigger blueprints: parse, call one durableml.service function, map errors."""
