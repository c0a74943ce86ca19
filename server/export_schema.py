"""Print the GraphQL schema in SDL: `python -m server.export_schema > graphql/schema.graphql`."""

from server.schema import schema

if __name__ == "__main__":
    print(schema.as_str())
