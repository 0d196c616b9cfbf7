/* Dependent look-ups: an AJAX select with data-depends-on="client" sends the value of the
   form's "client" field with every search (the server's loader narrows the rows to it,
   views/base.py TenantAjaxLoader), and is emptied when that field changes.
   Loaded after Flask-Admin's form.js, before the page's widgets are built. */
(function ($) {
  'use strict';
  if (!window.faForm) { return; }

  function masterValues($el) {
    var form = $el.closest('form');
    var values = {};
    ($el.attr('data-depends-on') || '').split(/\s+/).forEach(function (name) {
      if (!name) { return; }
      var value = form.find('[name="' + name + '"]').val();
      if (value && value !== '__None') { values[name] = value; }
    });
    return values;
  }

  function dependentAjaxSelect($el) {
    var multiple = $el.attr('data-multiple') === '1';
    var opts = {
      width: 'resolve',
      minimumInputLength: $el.attr('data-minimum-input-length'),
      placeholder: $el.attr('data-placeholder'),
      allowClear: !!$el.attr('data-allow-blank'),
      multiple: multiple,
      ajax: {
        url: $el.attr('data-url'),
        data: function (term, page) {
          return $.extend({query: term, offset: (page - 1) * 10, limit: 10}, masterValues($el));
        },
        results: function (data) {
          var results = data.map(function (row) { return {id: row[0], text: row[1]}; });
          return {results: results, more: results.length === 10};
        }
      },
      initSelection: function (element, callback) {
        var value = JSON.parse($(element).attr('data-json') || 'null');
        if (!value) { callback(null); return; }
        callback(multiple ? value.map(function (row) { return {id: row[0], text: row[1]}; })
                          : {id: value[0], text: value[1]});
      }
    };
    $el.select2(opts);
    var form = $el.closest('form');
    ($el.attr('data-depends-on') || '').split(/\s+/).forEach(function (name) {
      if (!name) { return; }
      form.on('change', '[name="' + name + '"]', function () {
        $el.select2('val', '');
        $el.trigger('change');
      });
    });
  }

  window.faForm.addFieldConverter(function ($el, role) {
    if (role === 'select2-ajax' && $el.attr('data-depends-on')) {
      dependentAjaxSelect($el);
      return true;
    }
    return false;
  });
})(jQuery);
