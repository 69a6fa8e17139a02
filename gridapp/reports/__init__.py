"""The daily report (日报): each evening the day of the town and of each community written up as
a snapshot, in the formal wording a town sends up, delivered up the grid."""
