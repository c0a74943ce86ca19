"""What `pip install .` puts in a wheel (the metadata and dependencies are in pyproject.toml).

The code packages (some domains have no __init__.py), found as they are added, and the two folders that live
beside the code, shipped as data packages under names of their own
(server/paths.py finds them): web/ -> paydeck_web, graphql/ -> paydeck_graphql.
"""

from setuptools import find_namespace_packages, setup

CODE = find_namespace_packages(include=["server", "server.*", "db", "db.*"], exclude=["*.__pycache__"])

setup(
    packages=[*CODE, "paydeck_web", "paydeck_graphql"],
    package_dir={"paydeck_web": "web", "paydeck_graphql": "graphql"},
    package_data={"paydeck_web": ["templates/**/*", "static/**/*"], "paydeck_graphql": ["**/*.graphql"]},
    py_modules=["piccolo_conf"],
)
