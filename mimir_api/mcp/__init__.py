"""The MCP server: one tool per registered operation, over streamable HTTP and stdio."""
