"""The debtor simulator: hidden personas, domain-randomised traits, text replies, and a gymnasium env."""
