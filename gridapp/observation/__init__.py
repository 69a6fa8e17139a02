"""Home observation (居家留观): a person watched at home for 14 days, checked twice a day, fevers
followed up, missed checks chased."""
