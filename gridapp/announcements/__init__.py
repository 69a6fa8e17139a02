"""Announcements (通知公告): the town and the communities publish notices to their people."""
