namespace FixedShapeAttention.Generators.Emitters;

/// <summary>
/// Emits matrix products as tinyBLAS's gemm_bloc does: an RM×RN block of named accumulators
/// (<c>acc_r0_c1</c>), per k step one load of each B vector and one broadcast of each A element, FMA into the
/// accumulators, and the epilogue once per output. Every output is one FMA chain in k order, the same whichever
/// tile, panel or thread computes it, which is what makes results independent of the partition.
/// </summary>
internal static class MatMulEmitter
{
    /// <summary>Walks the column panels of <paramref name="product"/> and emits <paramref name="emitBlock"/> for each
    /// block of column slots (one panel, or the remainder). A column-split product walks only its chunk's share.</summary>
    public static void EmitColumnBlocks(SourceWriter w, ProductSpec product, Action<ColumnBlock> emitBlock)
    {
        var layout = product.Layout;
        int lanes = layout.Lanes;
        ColumnShare? share = product.Plan.Share;
        if (layout.FullPanels > 0)
        {
            if (share is not null)
            {
                w.Line($"int firstPanel = RowPartition.Start({share.FullPanels}, {share.Chunks}, part);");
                w.Line($"int panelCount = RowPartition.Count({share.FullPanels}, {share.Chunks}, part);");
            }

            if (product.Plan.Unroll || layout.FullPanels == 1)
            {
                for (int panel = 0; panel < layout.FullPanels; panel++)
                {
                    int start = panel * layout.PanelWidth;
                    Index[] slots = Enumerable.Range(0, layout.PanelSlots).Select(s => Index.Of(start + s * lanes)).ToArray();
                    using (BlockIf(w, share is null ? null : $"if ({panel} >= firstPanel && {panel} < firstPanel + panelCount)"))
                    {
                        EmitGuarded(w, product, start, Block(product, slots, Index.Of(start), layout.PanelWidth, fullPanel: true), emitBlock);
                    }
                }
            }
            else
            {
                string first = share is null ? "0" : $"firstPanel * {layout.PanelWidth}";
                string end = share is null ? $"{layout.FullPanels * layout.PanelWidth}" : $"(firstPanel + panelCount) * {layout.PanelWidth}";
                string condition = $"col < {end}" + (product.SkipColumnsAfter is { } lastRow ? $" && col <= {lastRow}" : "");
                using (w.Block($"for (int col = {first}; {condition}; col += {layout.PanelWidth})"))
                {
                    Index[] slots = Enumerable.Range(0, layout.PanelSlots).Select(s => Index.Of("col") + s * lanes).ToArray();
                    emitBlock(product.Plan.PanelScratchFloats > 0 && product.PanelScratch is { } scratch
                        ? PanelOnTheFly(w, product, slots, scratch)
                        : Block(product, slots, Index.Of("col"), layout.PanelWidth, fullPanel: true));
                }
            }
        }

        if (layout.RemainderOffsets.Count > 0)
        {
            Index[] slots = layout.RemainderOffsets.Select(Index.Of).ToArray();
            int packedStart = layout.FullPanels * layout.PanelWidth;
            using (BlockIf(w, share is null ? null : $"if (part == {share.RemainderOwner})"))
            {
                EmitGuarded(w, product, layout.RemainderOffsets[0], Block(product, slots, Index.Of(packedStart), slots.Length * lanes), emitBlock);
            }
        }
    }

    /// <summary>
    /// A full panel read through <c>panel</c>: where the packed layout stores it, or, for plain arrays, a copy in
    /// <paramref name="scratch"/> in that same order (see the plan's <see cref="ProductPlan.PanelScratchFloats"/>), so both
    /// instantiations run one body on one layout. <see cref="EmitPanelCopy"/> makes the copy as the plan's
    /// <see cref="ProductPlan.PanelCopy"/> says; <see cref="ColumnBlock.Copy"/> is the same slots read in place, for the
    /// tile that copies as it computes.
    /// </summary>
    private static ColumnBlock PanelOnTheFly(SourceWriter w, ProductSpec product, Index[] slots, string scratch)
    {
        ColumnLayout layout = product.Layout;
        int width = layout.PanelWidth;
        w.Line($"ref float panel = ref Unsafe.Add(ref {product.B}, col * {product.Depth});");
        int[] slotOffsets = Enumerable.Range(0, slots.Length).Select(s => s * layout.Lanes).ToArray();
        var inPlace = new ColumnBlock(slots, new BAddress(slots[0], product.Ldb, slotOffsets), null) { CopyTo = scratch };
        return new ColumnBlock(slots, new BAddress(Index.Of(0), width, slotOffsets), null, "panel") { Copy = inPlace };
    }

    /// <summary>
    /// The plain-array copy of a full panel, before the row tiles that read it (see <see cref="PanelCopy"/>): row tile 0 with
    /// <paramref name="block"/>.Copy, whose loop stores every B vector it loads (the same loads and the same FMA chains as any
    /// tile: the same bits), after which the tile loop goes on from <c>tile</c> 1; or <c>PanelPacking.PackPanel</c>. Returns
    /// whether it declared <c>tile</c>.
    /// </summary>
    private static bool EmitPanelCopy(SourceWriter w, ProductSpec product, int rowTile, ColumnBlock block)
    {
        ColumnBlock inPlace = block.Copy!;
        string scratch = inPlace.CopyTo!;
        int width = product.Layout.PanelWidth;
        bool inFirstTile = product.Plan.PanelCopy == PanelCopy.InFirstTile;
        if (inFirstTile)
        {
            w.Line("int tile = 0;");
        }

        using (w.Block("if (!TWeights.IsPacked)"))
        {
            if (inFirstTile)
            {
                w.Line("// Row tile 0 reads the panel in place and stores it into the scratch as it goes; the tiles after it read the copy.");
                EmitTile(w, product, rowTile, Index.Of(0), Index.Of(0), inPlace, Index.Of(0));
                w.Line("tile = 1;");
            }
            else
            {
                // Row k of the panel is B[k, col..col + width): the source span ends at the last row's panel, inside B.
                w.Line($"PanelPacking.PackPanel(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref {product.B}, col), {(product.Depth - 1) * product.Ldb + width}),");
                w.Line($"    {product.Ldb}, {product.Depth}, {width}, MemoryMarshal.CreateSpan(ref {scratch}, {product.Plan.PanelScratchFloats}));");
            }

            w.Line($"panel = ref {scratch};");
        }

        return inFirstTile;
    }

    /// <summary>
    /// How one block of column slots reads B. Row-major: from the first slot's column, one row of <c>Ldb</c> per k.
    /// Packed (<see cref="ProductSpec.EitherLayout"/>): the block's panel is stored contiguously after the panels before
    /// it (which start at column <paramref name="packedColumn"/>, so at <c>packedColumn·Depth</c>), one row of
    /// <paramref name="packedWidth"/> per k, the slots side by side.
    /// </summary>
    private static ColumnBlock Block(ProductSpec product, Index[] slots, Index packedColumn, int packedWidth, bool fullPanel = false)
    {
        int lanes = product.Layout.Lanes;
        var rowMajor = new BAddress(slots[0], product.Ldb, slots.Select(slot => slot.Constant - slots[0].Constant).ToArray());
        BAddress? packed = product.EitherLayout
            ? new BAddress(packedColumn * product.Depth, packedWidth, slots.Select((_, s) => s * lanes).ToArray())
            : null;
        return new ColumnBlock(slots, rowMajor, packed) { FullPanel = fullPanel };
    }

    /// <summary>
    /// Emits a product over the rows of a chunk: column panels outside, row tiles inside, so one panel of B stays in
    /// cache while every row tile of the chunk uses it. The emitted method receives <c>fullTiles</c> and <c>hasTail</c>;
    /// the tail tile of <paramref name="tailRows"/> rows has code of its own.
    /// </summary>
    public static void EmitRowTiles(SourceWriter w, ProductSpec product, int rowTile, int tailRows)
    {
        // A pair loop leaves its counter for the single-tile loop after it, so with several column blocks each block
        // needs a scope of its own for that counter.
        ColumnLayout layout = product.Layout;
        int blocks = (layout.FullPanels == 0 ? 0 : product.Plan.Unroll || layout.FullPanels == 1 ? layout.FullPanels : 1) + (layout.RemainderOffsets.Count > 0 ? 1 : 0);
        bool scoped = product.Plan.PairRowTiles && blocks > 1;
        EmitColumnBlocks(w, product, block =>
        {
            using SourceWriter.Scope? scope = scoped ? w.Block() : null;
            if (product.Plan.PairRowTiles)
            {
                // Two row tiles at once: a narrow product (one or two vectors wide) has too few accumulators in one
                // tile to cover the FMA latency; a pair doubles them.
                w.Line("int tile = 0;");
                using (w.Block("for (; tile + 1 < fullTiles; tile += 2)"))
                {
                    if (product.RowStartOrigin is { } pairOrigin)
                    {
                        w.Line($"int rowStart = {pairOrigin} + tile * {rowTile};");
                    }

                    EmitTile(w, product, 2 * rowTile, Index.Of("tile", rowTile * product.Lda), Index.Of("tile", rowTile * product.Ldc), block, Index.Of("tile", rowTile));
                }
            }

            string firstTile = "0";
            Index blockStart = block.Slots[0];
            if (product.SkipTilesBeforeColumnFrom is { } firstRow && !product.Plan.PairRowTiles && !(blockStart.IsConstant && blockStart.Constant == 0))
            {
                // Causal: a row tile that ends before the block's first key sees none of its keys (the first tile that reaches it
                // is the one holding row max(block start − firstRow, 0)).
                firstTile = $"Math.Max(0, {blockStart} - {firstRow}) / {rowTile}";
            }

            bool continues = product.Plan.PairRowTiles;
            if (block.Copy is not null)
            {
                continues = EmitPanelCopy(w, product, rowTile, block);
            }

            // Causal scores narrow the tiles on the diagonal of each full panel first (in a scope of their own, which declares the
            // tile counter); the plan sets DiagonalSlots only where no paired or copying tile runs before the loop.
            bool diagonal = product.Plan.DiagonalSlots && block.FullPanel && product.SkipTilesBeforeColumnFrom is not null;
            using (SourceWriter.Scope? diagonalScope = diagonal ? w.Block() : null)
            {
                if (diagonal)
                {
                    EmitDiagonalTiles(w, product, rowTile, block, firstTile, product.SkipTilesBeforeColumnFrom!);
                }

                using (w.Block(continues || diagonal ? "for (; tile < fullTiles; tile++)" : $"for (int tile = {firstTile}; tile < fullTiles; tile++)"))
                {
                    if (product.RowStartOrigin is { } origin)
                    {
                        w.Line($"int rowStart = {origin} + tile * {rowTile};");
                    }

                    EmitTile(w, product, rowTile, Index.Of("tile", rowTile * product.Lda), Index.Of("tile", rowTile * product.Ldc), block, Index.Of("tile", rowTile));
                }
            }

            if (tailRows > 0)
            {
                using (w.Block("if (hasTail)"))
                {
                    if (product.RowStartOrigin is { } origin)
                    {
                        w.Line($"int rowStart = {origin} + fullTiles * {rowTile};");
                    }

                    EmitTile(w, product, tailRows, Index.Of("fullTiles", rowTile * product.Lda), Index.Of("fullTiles", rowTile * product.Ldc), block, Index.Of("fullTiles", rowTile));
                }
            }
        });
    }

    /// <summary>
    /// The row tiles of a causal panel whose last row ends inside it (see <see cref="ProductPlan.DiagonalSlots"/>): each
    /// computes the panel's first slots up to the vector holding its last row's key, one narrower tile per slot count; the
    /// loop leaves <c>tile</c> at the first tile that needs the whole panel.
    /// </summary>
    private static void EmitDiagonalTiles(SourceWriter w, ProductSpec product, int rowTile, ColumnBlock block, string firstTile, string origin)
    {
        int lanes = product.Layout.Lanes, slots = block.Slots.Length;
        w.Line($"int tile = {firstTile};");
        w.Line("// Tiles whose last row ends inside this panel: only the slots up to that row's key (the keys after it are masked).");
        using (w.Block("for (; tile < fullTiles; tile++)"))
        {
            Index panelStart = block.Slots[0];
            string minusStart = panelStart.IsConstant && panelStart.Constant == 0 ? "" : $" - {panelStart}";
            w.Line($"int reach = {origin} + tile * {rowTile} + {rowTile}{minusStart};");
            using (w.Block($"if (reach > {(slots - 1) * lanes})"))
            {
                w.Line("break;");
            }

            for (int used = 1; used < slots; used++)
            {
                // The break above leaves at most slots − 1 slots: the last count needs no test.
                string? header = used == slots - 1 ? (used == 1 ? null : "else") : used == 1 ? $"if (reach <= {lanes})" : $"else if (reach <= {used * lanes})";
                using (header is null ? w.Block() : w.Block(header))
                {
                    var narrow = new ColumnBlock(block.Slots.Take(used).ToArray(), Narrow(block.RowMajor, used), block.Packed is { } p ? Narrow(p, used) : null, block.Reference);
                    EmitTile(w, product, rowTile, Index.Of("tile", rowTile * product.Lda), Index.Of("tile", rowTile * product.Ldc), narrow, Index.Of("tile", rowTile));
                }
            }
        }
    }

    private static BAddress Narrow(BAddress address, int slots) => new(address.Base, address.Stride, address.SlotOffsets.Take(slots).ToArray());

    private static SourceWriter.Scope? BlockIf(SourceWriter w, string? header) => header is null ? null : w.Block(header);

    private static void EmitGuarded(SourceWriter w, ProductSpec product, int firstColumn, ColumnBlock block, Action<ColumnBlock> emitBlock)
    {
        using (BlockIf(w, product.SkipColumnsAfter is { } lastRow ? $"if ({firstColumn} <= {lastRow})" : null))
        {
            emitBlock(block);
        }
    }

    /// <summary>Emits one register tile: <paramref name="rows"/> rows from <paramref name="aBase"/>/<paramref name="cBase"/>,
    /// the given column slots, the whole depth, the epilogue and the stores. <paramref name="rowBase"/> is the tile's first
    /// row within the chunk, which <see cref="ProductSpec.RowOperand"/> is indexed by.</summary>
    public static void EmitTile(SourceWriter w, ProductSpec product, int rows, Index aBase, Index cBase, ColumnBlock block, Index rowBase)
    {
        Index[] slots = block.Slots;
        var isa = IsaSyntax.ForLanes(product.Layout.Lanes);
        for (int r = 0; r < rows; r++)
        {
            // default is the zero vector; spelled out, a row of four Vector512 accumulators would not fit one line.
            w.Line($"{isa.Type} {string.Join(", ", slots.Select((_, s) => $"{Accumulator(r, s)} = {(isa.IsScalar ? "0f" : "default")}"))};");
        }

        if (product.CausalRowStart is { } rowStart)
        {
            EmitLoop(w, product, isa, null, $"k <= {rowStart}", aBase, block, rows);
            for (int key = 1; key < rows; key++)
            {
                w.Line($"// Key {rowStart} + {key} is visible to rows {key}..{rows - 1} of this tile only.");
                using (w.Block())
                {
                    EmitStep(w, product, isa, Index.Of(rowStart) + key, aBase, block, firstRow: key, rows, declare: true);
                }
            }
        }
        else if (product.DepthFromRowStart is { } depthStart && !product.Plan.Unroll)
        {
            EmitLoop(w, product, isa, depthStart, $"k < {product.Depth}", aBase, block, rows);
        }
        else if (product.Plan.Unroll)
        {
            for (int k = 0; k < product.Depth; k++)
            {
                // Every load names its constant offset, so the k of a step is in plain sight; the first step declares.
                EmitStep(w, product, isa, Index.Of(k), aBase, block, firstRow: 0, rows, declare: k == 0);
            }
        }
        else
        {
            EmitLoop(w, product, isa, null, $"k < {product.Depth}", aBase, block, rows);
        }

        if (product.ColumnOperand is { } operand)
        {
            for (int s = 0; s < slots.Length; s++)
            {
                w.Line($"{isa.Type} {operand}_c{s} = {isa.Load(operand, slots[s])};");
            }
        }

        for (int r = 0; r < rows; r++)
        {
            if (product.RowOperand is { } rowOperand)
            {
                w.Line($"{isa.Type} {rowOperand}_r{r} = {isa.Broadcast(IsaSyntax.Element(rowOperand, rowBase + r))};");
            }

            for (int s = 0; s < slots.Length; s++)
            {
                string value = product.Epilogue(isa, Accumulator(r, s), product.ColumnOperand is { } op ? $"{op}_c{s}" : null);
                if (product.RowOperand is { } factor)
                {
                    value = $"{value} * {factor}_r{r}";
                }

                w.Line(isa.Store(value, product.C, cBase + r * product.Ldc + slots[s]));
            }
        }
    }

    /// <summary>
    /// The k loop from <paramref name="start"/> (0 when null): <c>bRow</c> walks B one row per step and <c>aRow</c> is fixed at
    /// the tile's first A row, so every load is a register plus a constant (or the native-sized k) and no index is recomputed
    /// or sign-extended. A transposed A (<see cref="ProductSpec.ADepthStride"/> above 1) walks with B instead, one stored row per step.
    /// </summary>
    private static void EmitLoop(SourceWriter w, ProductSpec product, IsaSyntax isa, string? start, string condition, Index aBase, ColumnBlock block, int rows)
    {
        Index[] slots = block.Slots;
        bool walkA = product.ADepthStride != 1;
        Index bStart(BAddress b) => start is null ? b.Base : b.Base + Index.Of(start, b.Stride);
        w.Line($"ref float bRow = ref {Reference(block.Reference ?? product.B, block.Offset(bStart))};");
        Index aStart = walkA && start is not null ? aBase + Index.Of(start, product.ADepthStride) : aBase;
        w.Line($"ref float aRow = ref {Reference(product.A, aStart.ToString())};");
        if (block.CopyTo is { } copyTo)
        {
            w.Line($"ref float copyRow = ref {copyTo};");
        }

        using (w.Block($"for (nint k = {start ?? "0"}; {condition}; k++)"))
        {
            for (int s = 0; s < slots.Length; s++)
            {
                int slot = s;
                w.Line($"{isa.Type} b_c{s} = {isa.Load("bRow", block.Offset(b => Index.Of(b.SlotOffsets[slot])))};");
            }

            if (block.CopyTo is not null)
            {
                for (int s = 0; s < slots.Length; s++)
                {
                    w.Line(isa.Store($"b_c{s}", "copyRow", Index.Of(s * isa.Lanes)));
                }

                w.Line($"copyRow = ref Unsafe.Add(ref copyRow, {slots.Length * isa.Lanes});");
            }

            for (int r = 0; r < rows; r++)
            {
                Index aElement = walkA ? Index.Of(r * product.Lda) : Index.Of("k") + r * product.Lda;
                w.Line($"{isa.Type} a_r{r} = {isa.Broadcast(IsaSyntax.Element("aRow", aElement))};");
                for (int s = 0; s < slots.Length; s++)
                {
                    w.Line($"{Accumulator(r, s)} = {isa.MultiplyAdd(product.Plan.MultiplyAdd, $"a_r{r}", $"b_c{s}", Accumulator(r, s))};");
                }
            }

            w.Line($"bRow = ref Unsafe.Add(ref bRow, {block.Offset(b => Index.Of(b.Stride))});");
            if (walkA)
            {
                w.Line($"aRow = ref Unsafe.Add(ref aRow, {product.ADepthStride});");
            }
        }
    }

    private static string Reference(string reference, string offset) =>
        offset == "0" ? reference : $"Unsafe.Add(ref {reference}, {offset})";

    private static void EmitStep(SourceWriter w, ProductSpec product, IsaSyntax isa, Index k, Index aBase, ColumnBlock block, int firstRow, int rows, bool declare)
    {
        Index[] slots = block.Slots;
        string type = declare ? isa.Type + " " : "";
        for (int s = 0; s < slots.Length; s++)
        {
            int slot = s;
            w.Line($"{type}b_c{s} = {isa.Load(block.Reference ?? product.B, block.Offset(b => b.Base + k * b.Stride + b.SlotOffsets[slot]))};");
        }

        for (int r = firstRow; r < rows; r++)
        {
            w.Line($"{type}a_r{r} = {isa.Broadcast(IsaSyntax.Element(product.A, aBase + r * product.Lda + k * product.ADepthStride))};");
            for (int s = 0; s < slots.Length; s++)
            {
                w.Line($"{Accumulator(r, s)} = {isa.MultiplyAdd(product.Plan.MultiplyAdd, $"a_r{r}", $"b_c{s}", Accumulator(r, s))};");
            }
        }
    }

    private static string Accumulator(int row, int slot) => $"acc_r{row}_c{slot}";
}
