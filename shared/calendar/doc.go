package calendar

// UnsetSecret is the client secret's value until the operator sets it.
const UnsetSecret = "unset"
