// Command envecho is a small MCP server (official Go SDK) with one tool,
// getenv, that says whether an environment variable reached it and with
// which value: it stands in for a server that needs an API key in its
// environment (the GitHub server's GITHUB_PERSONAL_ACCESS_TOKEN) in the
// tests of sbshim wrap.
package main

import (
	"context"
	"log"
	"os"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type getenvArgs struct {
	Name string `json:"name" jsonschema:"the variable's name"`
}

func main() {
	s := mcp.NewServer(&mcp.Implementation{Name: "envecho", Version: "1"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "getenv", Description: "Say whether a variable is set, and its value."},
		func(_ context.Context, _ *mcp.CallToolRequest, a getenvArgs) (*mcp.CallToolResult, any, error) {
			text := "unset"
			if v, ok := os.LookupEnv(a.Name); ok {
				text = "set: " + v
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}, nil, nil
		})
	if err := s.Run(context.Background(), &mcp.StdioTransport{}); err != nil {
		log.Fatal(err)
	}
}
