"""Inputs that live outside this process; the core never imports these modules."""
