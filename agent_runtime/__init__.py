"""The live agent: dialogue engine, DST, NLG, compliance guard, speech plugins, events."""
