package language

// UndeclaredExpressionAttributeNames scans the expression for attribute name placeholders
// (#name) that are not declared in aliases (ExpressionAttributeNames), returning each
// undeclared placeholder once in first-seen order. An empty expression yields no results.
func UndeclaredExpressionAttributeNames(expression string, aliases map[string]string) []string {
	undeclared := []string{}

	for _, name := range namePlaceholders(expression) { // Matterly: lexed once per text
		if _, ok := aliases[name]; !ok {
			undeclared = append(undeclared, name)
		}
	}

	return undeclared
}
