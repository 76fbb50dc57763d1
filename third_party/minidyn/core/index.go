package core

import (
	"maps"
	"time"

	"github.com/truora/minidyn/types"
)

type indexType string

const (
	indexTypeGlobal indexType = "global"
	indexTypeLocal  indexType = "local"
)

// index is a secondary index: its items in key order (see ordered.go).
type index struct {
	keySchema  keySchema
	ord        *ordered
	typ        indexType
	projection *types.Projection
	Table      *Table
	createdAt  time.Time
}

func newIndex(t *Table, typ indexType, ks keySchema) *index {
	ks.Secondary = true

	return &index{
		keySchema: ks,
		ord:       newOrdered(ks),
		typ:       typ,
		Table:     t,
	}
}

func (i *index) Clear() {
	i.ord.clear()
}

// ProjectItem returns the attributes visible through this index's projection (ALL, KEYS_ONLY, INCLUDE).
// For ALL or unknown types, it returns a full shallow copy of the item.
func (i *index) ProjectItem(item map[string]*types.Item) map[string]*types.Item {
	if i == nil || i.projection == nil {
		return copyItem(item)
	}

	pt := ""
	if i.projection.ProjectionType != nil {
		pt = *i.projection.ProjectionType
	}

	switch pt {
	case "", "ALL":
		return copyItem(item)
	case "KEYS_ONLY":
		return i.projectKeysOnly(item)
	case "INCLUDE":
		return i.projectInclude(item)
	default:
		return copyItem(item)
	}
}

func (i *index) projectKeysOnly(item map[string]*types.Item) map[string]*types.Item {
	out := make(map[string]*types.Item)
	maps.Copy(out, i.Table.KeySchema.getKeyItem(item))
	maps.Copy(out, i.keySchema.getKeyItem(item))

	return out
}

func (i *index) projectInclude(item map[string]*types.Item) map[string]*types.Item {
	out := i.projectKeysOnly(item)

	for _, namePtr := range i.projection.NonKeyAttributes {
		if namePtr == nil {
			continue
		}

		name := *namePtr
		if v, ok := item[name]; ok {
			out[name] = v
		}
	}

	return out
}

// putData files the item stored under key (new or replaced) in the index,
// or takes it out when it no longer has the index's key (sparse index).
func (i *index) putData(key string, item map[string]*types.Item) error {
	if _, err := i.keySchema.GetKey(i.Table.AttributesDef, item); err != nil {
		return err
	}

	i.ord.set(i.Table.AttributesDef, key, item)

	return nil
}

func (i *index) updateData(key string, item, _ map[string]*types.Item) error {
	return i.putData(key, item)
}

func (i *index) delete(key string, _ map[string]*types.Item) error {
	i.ord.remove(key)

	return nil
}

func (i *index) count() int64 {
	return int64(i.ord.count())
}
