"""Identity proofing: ID number and credit code rules, assurance levels, organisations."""
