"""Rosbag tools: make camera bags, replay them through the node, evaluate.

Bags are read and written with ``rosbags`` (no rosbag2 installation needed);
replay goes through the real node over DDS.
"""
