"""The people of each household (不落一户、不漏一人): who lives there, and who came or returned
from outside, from where, when and how — the fields of the town's 登记表."""
