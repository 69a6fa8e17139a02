"""Disinfection and cleaning rounds (消毒 / 垃圾清运): points, time windows, slots, ticks, boards."""
