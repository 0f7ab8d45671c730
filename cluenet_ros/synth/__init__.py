"""Synthetic street scenes with occluded pedestrians and exact ground truth,
written in the CityPersons and COCO formats the training and evaluation read."""
