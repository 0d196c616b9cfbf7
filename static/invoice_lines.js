/* The invoice line grid (templates/invoices/line_grid.html): rows added, removed and
   reordered in place, the hidden position set from the row order, an article's label,
   kind, unit, VAT rate and unit price filled in when it is chosen, and the running totals.

   The totals follow rules/invoices.py compute_totals exactly (the server recomputes them on
   save and is the reference): line amount = quantity x unit price rounded half-up to the
   cent; VAT per rate = base of the rate x rate / 100 rounded half-up to the cent. Numbers
   are exact decimals (BigInt), typed with a comma or a point. */
(function ($) {
  'use strict';

  // --- Exact decimals: {units: BigInt, scale: digits after the point} -------------------
  var SPACES = /[\s\u00a0\u202f]/g;

  function parseDecimal(text) {
    var cleaned = String(text == null ? '' : text).replace(SPACES, '').replace(',', '.');
    if (cleaned === '') { return {units: 0n, scale: 0}; }
    var match = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(cleaned);
    if (!match || (match[2] === '' && !match[3])) { return null; }
    var fraction = match[3] || '';
    var units = BigInt((match[2] || '0') + fraction);
    return {units: match[1] === '-' ? -units : units, scale: fraction.length};
  }

  function pow10(n) { return 10n ** BigInt(n); }

  function roundHalfUp(value, scale) {  // to `scale` digits, ties away from zero
    if (value.scale <= scale) { return value.units * pow10(scale - value.scale); }
    var divisor = pow10(value.scale - scale);
    var half = divisor / 2n;
    var magnitude = value.units < 0n ? -value.units : value.units;
    var rounded = (magnitude + half) / divisor;
    return value.units < 0n ? -rounded : rounded;
  }

  function multiply(a, b) { return {units: a.units * b.units, scale: a.scale + b.scale}; }

  // --- One grid -----------------------------------------------------------------------
  function LineGrid(root) {
    this.root = root;
    this.prefix = root.attr('data-prefix');
    this.rows = root.find('tbody.line-rows');
    this.locale = root.attr('data-locale') || 'fr';
    this.rates = JSON.parse(root.attr('data-vat-rates') || '{}');
    this.money = new Intl.NumberFormat(this.locale, {style: 'currency', currency: 'EUR'});
    this.amount = new Intl.NumberFormat(this.locale, {minimumFractionDigits: 2, maximumFractionDigits: 2});
    this.decimalSymbol = (1.5).toLocaleString(this.locale).charAt(1);
    this.bind();
    this.refresh();
  }

  LineGrid.prototype.liveRows = function () {
    return this.rows.children('tr.line-row').not('.line-deleted');
  };

  LineGrid.prototype.bind = function () {
    var grid = this;
    grid.root.on('click', '.line-add', function () { grid.addRow(); });
    grid.rows.on('click', '.line-remove', function () { grid.removeRow($(this).closest('tr')); });
    grid.rows.on('click', '.line-up', function () { grid.move($(this).closest('tr'), -1); });
    grid.rows.on('click', '.line-down', function () { grid.move($(this).closest('tr'), 1); });
    grid.rows.on('input change', 'input.line-quantity, input.line-unit_price', function () { grid.refresh(); });
    grid.rows.on('input', 'input.line-unit_price', function () { $(this).closest('td').find('.line-note').text(''); });
    grid.rows.on('change', 'select.line-vat_rate', function () { grid.refresh(); });
    grid.rows.on('change', 'input.line-article', function () { grid.fillFromArticle($(this).closest('tr'), $(this).val()); });
    grid.root.closest('form').on('submit', function () { grid.numberPositions(); });
  };

  LineGrid.prototype.nextIndex = function () {
    var pattern = new RegExp('^' + this.prefix + '-(\\d+)-');
    var next = 0;
    this.rows.find('[name]').each(function () {
      var match = pattern.exec(this.name);
      if (match) { next = Math.max(next, parseInt(match[1], 10) + 1); }
    });
    return next;
  };

  LineGrid.prototype.addRow = function () {
    var base = this.prefix + '-' + this.nextIndex();
    var row = $(this.root.find('template.line-template').html());
    row.attr('id', base);
    row.find('[name]').each(function () {
      this.name = base + '-' + this.name;
      if (this.id) { this.id = base + '-' + this.id; }
    });
    this.rows.append(row);
    window.faForm.applyGlobalStyles(row);
    this.refresh();
    row.find('input.line-article').select2('focus');  // typing opens its look-up
    return row;
  };

  LineGrid.prototype.removeRow = function (row) {
    var remove = row.find('.line-delete');
    if (remove.length) {  // a saved line: deleted on save, like Flask-Admin's "del-" box
      remove.prop('checked', true);
      row.addClass('line-deleted d-none');
    } else {
      row.remove();
    }
    this.refresh();
  };

  LineGrid.prototype.move = function (row, step) {
    var live = this.liveRows();
    var target = live.eq(live.index(row) + step);
    if (step < 0 && live.index(row) > 0) { row.insertBefore(target); }
    if (step > 0 && target.length) { row.insertAfter(target); }
    this.refresh();
  };

  LineGrid.prototype.numberPositions = function () {
    this.liveRows().each(function (index) { $(this).find('input.line-position').val(index + 1); });
  };

  LineGrid.prototype.setSelect = function (select, value) {
    if (value == null) { return; }
    if (select.data('select2')) { select.select2('val', String(value)); } else { select.val(String(value)); }
  };

  LineGrid.prototype.typedNumber = function (text) {  // "12.5" from the server -> "12,5"
    return String(text).replace('.', this.decimalSymbol);
  };

  LineGrid.prototype.fillFromArticle = function (row, articleId) {
    var grid = this;
    if (!articleId) { return; }
    var url = grid.root.attr('data-article-url') + '?id=' + encodeURIComponent(articleId);
    $.ajax({url: url, dataType: 'json'}).done(function (line) {
      row.find('input.line-label').val(line.label);
      grid.setSelect(row.find('select.line-kind'), line.kind);
      if (line.unit) { grid.setSelect(row.find('select.line-unit'), line.unit[0]); }
      if (line.vat_rate) { grid.setSelect(row.find('select.line-vat_rate'), line.vat_rate[0]); }
      var note = row.find('.line-note');
      if (line.unit_price != null) {
        row.find('input.line-unit_price').val(grid.typedNumber(line.unit_price));
        note.text(line.price_source === 'pricing_rule' ? grid.root.attr('data-rule-note') : '');
      } else {
        note.text(line.warnings.join(' '));
      }
      grid.refresh();
    });
  };

  LineGrid.prototype.refresh = function () {
    var grid = this;
    var bases = {};  // VAT rate -> base in cents
    var excl = 0n;
    var live = grid.liveRows();
    live.each(function () {
      var row = $(this);
      var quantityInput = row.find('input.line-quantity'), priceInput = row.find('input.line-unit_price');
      var quantity = parseDecimal(quantityInput.val()), price = parseDecimal(priceInput.val());
      quantityInput.toggleClass('is-invalid', quantity === null);
      priceInput.toggleClass('is-invalid', price === null);
      if (quantity === null || price === null) { row.find('.line-amount').text('—'); return; }
      var cents = roundHalfUp(multiply(quantity, price), 2);
      row.find('.line-amount').text(grid.amount.format(Number(cents) / 100));
      var rate = grid.rates[row.find('select.line-vat_rate').val()] || '0';
      bases[rate] = (bases[rate] || 0n) + cents;
      excl += cents;
    });
    grid.root.find('tbody.line-empty').toggleClass('d-none', live.length > 0);
    var vat = 0n;
    var template = grid.root.find('tr.total-vat-template');
    grid.root.find('tr.total-vat').remove();
    Object.keys(bases).sort(function (a, b) { return parseFloat(a) - parseFloat(b); }).forEach(function (rate) {
      var rateValue = parseDecimal(rate);
      var product = multiply({units: bases[rate], scale: 2}, rateValue);  // base x rate, in percent
      var cents = roundHalfUp({units: product.units, scale: product.scale + 2}, 2);  // / 100
      vat += cents;
      var label = new Intl.NumberFormat(grid.locale, {maximumFractionDigits: 2}).format(parseFloat(rate)) + '\u00a0%';
      var line = template.clone().removeClass('total-vat-template d-none').addClass('total-vat');
      line.attr('data-rate', rate);
      line.find('th').text(grid.root.attr('data-vat-label').replace('__RATE__', label));
      line.find('td').first().text(grid.money.format(Number(cents) / 100));
      line.insertBefore(grid.root.find('tr.total-incl-vat'));
    });
    grid.root.find('#total-excl-vat').text(grid.money.format(Number(excl) / 100));
    grid.root.find('#total-incl-vat').text(grid.money.format(Number(excl + vat) / 100));
    grid.numberPositions();
  };

  // exposed for the browser test and the console
  window.passerelleLines = {parseDecimal: parseDecimal, roundHalfUp: roundHalfUp};

  $(function () {
    $('.line-grid').each(function () { new LineGrid($(this)); });
  });
})(jQuery);
