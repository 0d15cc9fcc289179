// Package lint finds what would make a mirror surprise people before rollout: users
// who silently see nothing, roles nobody holds, grants nobody can use.
package lint
