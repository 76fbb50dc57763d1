package extract

import "io"

func readDOCX(r io.ReaderAt, size int64, w *writer, limit int64) error { return nil }
func readTXT(r io.ReaderAt, size int64, ct string, w *writer) error   { return nil }
func readHTML(r io.ReaderAt, size int64, ct string, w *writer) error  { return nil }
func readRTF(r io.ReaderAt, size int64, w *writer) error              { return nil }
