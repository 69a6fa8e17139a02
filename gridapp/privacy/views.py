"""The record of looks (town leader, administrator) and a resident's request (everything held about
one household: a printable page and a file; correct or delete it)."""
from flask import Blueprint

bp = Blueprint("privacy", __name__, template_folder="templates")
